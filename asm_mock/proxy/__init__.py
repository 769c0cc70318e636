"""The validating proxy: `asm-mock proxy --upstream URL` forwards to the real system and checks
what passes both ways against the contract."""
