"""The parts of a bound-validation sweep (:mod:`fpnorm.sweeps`): its config (:mod:`.config`) and its on-disk
results (:mod:`.store`)."""
