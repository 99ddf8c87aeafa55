"""Formats: MISP events and feeds, CSV and IOC lists, OpenIOC, free-text report extraction,
and the detection exports (STIX bundles, MISP, CSV, blocklists, Suricata, Zeek Intel).

Converters are pure functions over parsed documents; ``imports`` and ``exports`` are the use
cases that read from and write to ``ribat.intel``. Calls ``ribat.intel`` and ``ribat.db``.
"""
