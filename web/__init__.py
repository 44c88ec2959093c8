"""stemcell-qa web package."""
