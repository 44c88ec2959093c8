"""stemcell-qa assistant package."""
