"""stemcell-qa index package."""
