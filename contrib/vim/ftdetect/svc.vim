" .svc files are svcc's service descriptions (svc(5))
autocmd BufRead,BufNewFile *.svc setfiletype svc
