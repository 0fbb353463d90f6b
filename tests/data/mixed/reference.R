# Reference fits for tests/test_stats_mixed.py (run: Rscript tests/data/mixed/reference.R).
# Seeds are nested in condition (labels 0-3 repeat across arms), hence (1|condition:seed).
suppressPackageStartupMessages(library(lme4))
options(digits = 10)
d <- read.csv("tests/data/mixed/cells.csv", colClasses = c(seed = "character"))
d$condition <- factor(d$condition, levels = c("control", "treated"))
d$rate <- d$hits / d$n

lmm <- lmer(rate ~ condition + (1|condition:seed) + (1|question), data = d, REML = TRUE)
cat("lmer fixef:", format(fixef(lmm), digits = 10), "\n")
cat("lmer se:", format(sqrt(diag(as.matrix(vcov(lmm)))), digits = 10), "\n")
print(as.data.frame(VarCorr(lmm))[, c("grp", "vcov", "sdcor")], digits = 10)

glmm <- glmer(cbind(hits, n - hits) ~ condition + (1|condition:seed) + (1|question),
              data = d, family = binomial)
cat("glmer fixef:", format(fixef(glmm), digits = 10), "\n")
cat("glmer se:", format(sqrt(diag(as.matrix(vcov(glmm)))), digits = 10), "\n")
print(as.data.frame(VarCorr(glmm))[, c("grp", "vcov", "sdcor")], digits = 10)
cat(R.version.string, "lme4", as.character(packageVersion("lme4")), "\n")
