"""Recording: what an upstream answered, written as a scenario file `asm-mock serve` replays.

`Recorder` takes the proxy's `Exchange`s (`asm_mock.proxy.exchange`); `scrub` keeps secrets out of
everything written, `pseudonyms` replaces customers' personal data consistently, `entries` turns
one exchange into one canned answer of the scenario format.
"""
