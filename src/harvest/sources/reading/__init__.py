"""Reading HTML and sitemaps as a person reads them, for mirror modules: visible lines, labels, displayed values."""
