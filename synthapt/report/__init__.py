"""HTML validation reports: case results, page building, HTML pieces and figures."""
