"""The contract service: purchase methods, award, contract terms and filing, performance-linked settlement."""
