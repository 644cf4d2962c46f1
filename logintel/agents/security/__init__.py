"""The security analyst: login attacks by rule and anomalous access."""
