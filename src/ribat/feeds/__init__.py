"""Feeds: scheduled, incremental pulls from remote TAXII 2.1 collections, MISP feeds, CSV and
text lists and local directories into a collection, with every run recorded.

Calls ``ribat.formats`` (to parse what a source serves), ``ribat.intel`` (to store it) and
``ribat.db``.
"""
