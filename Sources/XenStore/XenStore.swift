// xenstored: the tree, permissions, transactions, watches and the wire protocol (being written).
