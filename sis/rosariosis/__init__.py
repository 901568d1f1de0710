"""RosarioSIS 12 (PHP on PostgreSQL, GPL-2.0) installed locally: unpack, configure, serve, seed.

``layout`` says where everything lives under ``.firstbell/rosariosis/``; ``source`` unpacks the
given tarball or checkout and writes ``config.inc.php``; ``php`` checks the PHP extensions and
finds php-fpm and nginx; ``server`` runs php-fpm behind nginx (or PHP's built-in server);
``database`` owns the embedded PostgreSQL cluster, the role and the database; ``passwords``
hashes the accounts' passwords; ``seed`` maps the district onto RosarioSIS's tables and loads them
with COPY; ``userpool`` writes the personas' identities; ``control`` runs ``up``, ``status`` and
``down``.
"""
