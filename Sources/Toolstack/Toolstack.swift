// The PV domain builder lives in DomainBuilder/ (being written).
