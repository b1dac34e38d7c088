"""bcrypt hashes for the tests, made by an implementation that is not ours.

Usage: /usr/bin/python3 bcrypt_hash.py COST PREFIX PASSWORD
Prints the hash that Debian's python3-bcrypt makes of PASSWORD (its bytes as
given on the command line) with a fresh salt, COST rounds and the $PREFIX$
identifier (2a or 2b; 2y is the 2b algorithm under another name, as PHP
writes it, so the caller may rename a 2b hash).  Exits 2 when python3-bcrypt
is missing.
"""
import os
import sys

try:
    import bcrypt
except ImportError:
    sys.stderr.write("bcrypt_hash.py: python3-bcrypt is not installed "
                     "(apt-get install python3-bcrypt)\n")
    sys.exit(2)

cost, prefix, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
salt = bcrypt.gensalt(rounds=cost, prefix=prefix.encode("ascii"))
print(bcrypt.hashpw(os.fsencode(password), salt).decode("ascii"))
