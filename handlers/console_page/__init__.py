"""The staff console's page: HTML, CSS and JavaScript, served as they are."""
