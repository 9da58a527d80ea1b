"""综合评价 and 源头治理: the evaluation query, its parts, the negative list, trends and early
warning."""
