"""Infrastructure shared by every layer of fpnorm: argument checks at the public edge (:mod:`.checks`), memory
estimates before large allocations (:mod:`.memory`), progress bars (:mod:`.progress`) and BLAS thread control
(:mod:`.threads`). Nothing here knows about weights, solvers or results."""
