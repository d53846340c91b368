"""The Bloblang playground, ``benthic blobl server``: a local page to write a mapping and see its
output, metadata and errors as you type.

``server`` holds the command and the routes (and how they relate to upstream's), ``evaluator``
the child process that runs mappings under a time limit, ``worker`` that child's side,
``responses`` the answer's shape, and ``static/`` the page.
"""
