"""The Ribat benchmark: Ribat and medallion 3.0 side by side over real HTTP.

``python -m bench`` (``make bench``) generates the same STIX 2.1 indicators for both
servers (``bench.stixgen``), starts a real ``ribat serve`` and a real medallion process
on 127.0.0.1 (``bench.servers``), fills each collection to every size by POSTing TAXII
envelopes of 1,000 objects and measures ingest rate and GET page latency with one
httpx client for both (``bench.measure``), then prints a table and updates
``bench/RESULTS.md`` (``bench.report``). ``python -m bench.profile_ingest`` profiles
Ribat's ingest and GET page in process; ``python -m bench.stacks`` summarises a py-spy
profile of a running server.

This package calls Ribat only through its CLI, its HTTP API and, for the in-process
profile, ``ribat.hub.Hub``; nothing in ``src/`` imports it.
"""
