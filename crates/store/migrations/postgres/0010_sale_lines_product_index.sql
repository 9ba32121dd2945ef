-- No query looks sale lines up by product (reports reach them from their tickets, demand comes
-- from the ledger), and the index cost every ticket a page write per line at random places.
DROP INDEX sale_lines_product;
