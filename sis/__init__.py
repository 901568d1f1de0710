"""Third-party SIS products installed on this machine to rehearse against (RosarioSIS).

Each product is a sub-package that installs the product from its source, runs it on the
embedded PostgreSQL (``staging.embedded``) behind a local web server, seeds the synthetic
district into the product's own tables and writes the user pool the load engine reads. The
products' files are never copied into this repository: they are unpacked under ``.firstbell/``.
"""
