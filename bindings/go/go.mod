module svcc

go 1.19
