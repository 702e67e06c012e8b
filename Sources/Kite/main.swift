// placeholder until the entry point lands
