from synthapt.cli import main

main()
