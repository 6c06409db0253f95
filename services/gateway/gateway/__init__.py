"""gateway: the HTTP front of the platform: the billing and POS API (`api`), customers' links
(`links`), the operator panel (`operator`), the shopper's and the chain's portals (`shop`,
`chain`), and what their pages share (`web`)."""
