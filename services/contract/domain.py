"""Rules of the contract service (no I/O): purchase methods, award, contract terms and filing, performance-linked settlement."""
