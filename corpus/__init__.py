"""stemcell-qa corpus package."""
