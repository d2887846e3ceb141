#!/usr/bin/env bash
# measure-agreement.sh LABELS.csv MODEL.csv [COLUMN...]: how well the measures of a model's maps
# agree with those of the experts' labels (two `seqnet measure` tables, rows joined by the file
# name of `path`): per column n, both means, ICC(2,1) (two-way random, absolute agreement, single
# measures; Shrout and Fleiss 1979) and the Bland-Altman bias (model - labels) with its 95% limits
# of agreement (bias -+ 1.96 SD of the differences). Rows with a blank value in either table are
# left out of that column. docs/MEASURES.md's agreement tables are this script's output.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 LABELS.csv MODEL.csv [COLUMN...]" >&2
  exit 2
fi
labels=$1 model=$2
shift 2
columns="${*:-disc_x disc_y disc_diameter_px crae_px crve_px avr width_all_px width_artery_px width_vein_px tortuosity_df_all tortuosity_df_artery tortuosity_df_vein curvature_all_per_px fractal_dimension_all fractal_dimension_artery fractal_dimension_vein density_all density_artery density_vein branch_points}"
awk -v columns="$columns" '
# Splits one CSV line into f[1..n] (fields may be quoted, with "" for a quote); returns n.
function split_csv(line, f,    n, i, c, field, quoted) {
  n = 0; field = ""; quoted = 0
  for (i = 1; i <= length(line); ++i) {
    c = substr(line, i, 1)
    if (quoted) {
      if (c == "\"" && substr(line, i + 1, 1) == "\"") { field = field "\""; ++i }
      else if (c == "\"") quoted = 0
      else field = field c
    } else if (c == "\"") quoted = 1
    else if (c == ",") { f[++n] = field; field = "" }
    else field = field c
  }
  f[++n] = field
  return n
}
function base(path) { sub(/.*\//, "", path); sub(/\.[^.]*$/, "", path); return path }
FNR == 1 { table++; n = split_csv($0, head); for (i = 1; i <= n; ++i) col[table, head[i]] = i; next }
{
  split_csv($0, f)
  key = base(f[col[table, "path"]])
  for (c = 1; c <= ncol; ++c) value[table, key, c] = f[col[table, name[c]]]
  if (table == 1) keys[key] = 1
}
BEGIN { ncol = split(columns, name, " ") }
END {
  print "| measure | n | mean (labels) | mean (model) | ICC(2,1) | bias (model - labels) | 95% limits of agreement |"
  print "| --- | --- | --- | --- | --- | --- | --- |"
  for (c = 1; c <= ncol; ++c) {
    n = 0; sa = 0; sb = 0
    for (k in keys) {
      a = value[1, k, c]; b = value[2, k, c]
      if (a == "" || b == "") continue
      ++n; x[n] = a + 0; y[n] = b + 0; sa += x[n]; sb += y[n]
    }
    if (n < 2) { printf "| `%s` | %d | | | | | |\n", name[c], n; continue }
    ma = sa / n; mb = sb / n; m = (ma + mb) / 2
    ssr = 0; sst = 0; sd = 0; sdd = 0
    for (i = 1; i <= n; ++i) {
      r = (x[i] + y[i]) / 2; ssr += 2 * (r - m) ^ 2
      sst += (x[i] - m) ^ 2 + (y[i] - m) ^ 2
      d = y[i] - x[i]; sd += d; sdd += d * d
    }
    ssc = n * ((ma - m) ^ 2 + (mb - m) ^ 2)
    msr = ssr / (n - 1); msc = ssc; mse = (sst - ssr - ssc) / (n - 1)
    icc = (msr - mse) / (msr + mse + 2 * (msc - mse) / n)
    bias = sd / n; sdev = sqrt((sdd - n * bias * bias) / (n - 1))
    printf "| `%s` | %d | %.4g | %.4g | %.2f | %.3g | %.3g to %.3g |\n", name[c], n, ma, mb, icc, bias, bias - 1.96 * sdev, bias + 1.96 * sdev
  }
}' "$labels" "$model"
