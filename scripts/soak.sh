#!/bin/bash
# A long day of use, compressed: starts the desktop program under a virtual X server, types a
# new caption into the prompt and presses Ctrl+Enter (real key events, through XTEST) for one
# generation after another, checks that each picture carries the caption typed, and watches
# the process's resident memory, threads and open files. After the tenth generation and every
# 25th it prints a row; at the end, a verdict: resident memory within 100 MB of its value after
# the tenth generation, and no more threads or open files than then.
#
#   scripts/soak.sh [--runs N] [--model DIR|starter] [--steps N] [--size PX] [--csv FILE]
#
# Needs Xvfb and xdotool (Debian: apt-get install xvfb xdotool) and a built
# build/bin/latentstudio (or LATENT_GUI=path). The program runs with settings, caches and an
# output folder of its own in a temporary folder, so the user's are never touched.
set -eu
cd "$(dirname "$0")/.."

runs=300
model=tests/data/tiny-sd
steps=4
size=64
csv=
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --csv) csv=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$runs" in ''|*[!0-9]*) echo "soak.sh: --runs '$runs' is not a whole number" >&2; exit 2 ;; esac
[ "$runs" -ge 10 ] || { echo "soak.sh: --runs $runs: the baseline is taken after the tenth, so at least 10" >&2; exit 2; }

gui=${LATENT_GUI:-build/bin/latentstudio}
[ -x "$gui" ] || { echo "soak.sh: no program at $gui (build the latentstudio target, or set LATENT_GUI)" >&2; exit 2; }
for tool in Xvfb xdotool; do
  command -v "$tool" >/dev/null || { echo "soak.sh: needs $tool (Debian: apt-get install xvfb xdotool)" >&2; exit 2; }
done
# The settings hold the model as a path; "starter" leaves it empty, which means the bundled one.
if [ "$model" = starter ]; then model_path=
elif [ -e "$model" ]; then model_path=$(cd "$(dirname "$model")" && pwd)/$(basename "$model")
else echo "soak.sh: --model '$model' does not exist" >&2; exit 2; fi

work=$(mktemp -d)
xvfb_pid=
gui_pid=
cleanup() {
  if [ -n "$gui_pid" ]; then kill "$gui_pid" 2>/dev/null || true; fi
  if [ -n "$xvfb_pid" ]; then kill "$xvfb_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# A home of its own: settings (QSettings under XDG_CONFIG_HOME), caches and pictures.
export HOME=$work/home XDG_CONFIG_HOME=$work/config XDG_CACHE_HOME=$work/cache XDG_DATA_HOME=$work/data
out=$work/out
mkdir -p "$HOME" "$XDG_CONFIG_HOME/LatentStudio" "$XDG_CACHE_HOME" "$XDG_DATA_HOME" "$out"
cat >"$XDG_CONFIG_HOME/LatentStudio/latentstudio.conf" <<EOF
[generation]
prompt=a small green square on a yellow background in the top left
width=$size
height=$size
steps=$steps
seedLocked=false
batchCount=1
batchSize=1

[model]
path=$model_path
device=cpu
dtype=fp32

[output]
folder=$out
EOF

# The X server picks a free display and writes its number to the descriptor we give it.
Xvfb -displayfd 3 -screen 0 1600x1000x24 -nolisten tcp 3>"$work/display" 2>"$work/xvfb.log" &
xvfb_pid=$!
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
[ -s "$work/display" ] || { echo "soak.sh: Xvfb did not start:" >&2; cat "$work/xvfb.log" >&2; exit 1; }
DISPLAY=:$(head -n1 "$work/display")
export DISPLAY
unset QT_QPA_PLATFORM

"$gui" >"$work/gui.log" 2>&1 &
gui_pid=$!
window=$(timeout 60 xdotool search --sync --onlyvisible --pid "$gui_pid" --name 'Latent Studio' | head -n1) || true
[ -n "$window" ] || { echo "soak.sh: the window did not appear:" >&2; cat "$work/gui.log" >&2; exit 1; }
# Keys go where the X server's focus is (XTEST, as from a keyboard): on the window.
xdotool windowfocus --sync "$window"

# The n-th caption of the kind the starter model learned: size, colour, shape, background and
# place vary at different rates, so 300 generations type 300 different prompts.
caption() {
  local colours=(red green blue yellow orange purple white black) shapes=(circle square triangle star)
  local places=("in the center" "in the top left" "in the top right" "in the bottom left" "in the bottom right")
  local sizes=(small large) n=$1
  local background=${colours[(n / 16 + 3) % 8]}
  local article=a; [ "$background" = orange ] && article=an
  echo "a ${sizes[n % 2]} ${colours[n / 2 % 8]} ${shapes[n % 4]} on $article $background background ${places[n % 5]}"
}
pictures() { local files=("$out"/*.png); [ -e "${files[0]}" ] && echo ${#files[@]} || echo 0; }
sample() {  # generation number: one row of resident MB, threads, open files
  local rss tasks=("/proc/$gui_pid/task"/*) files=("/proc/$gui_pid/fd"/*)
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$gui_pid/status")
  echo "$1 $((rss / 1024)) ${#tasks[@]} ${#files[@]}"
}

echo "soak: $runs generations of ${size}x$size, $steps steps, model ${model}, display $DISPLAY, pid $gui_pid"
printf '%10s %10s %8s %8s %10s\n' generation rss_mb threads files seconds
[ -n "$csv" ] && echo "generation,rss_mb,threads,files,seconds" >"$csv"
start=$(date +%s)
rows=()
for ((n = 1; n <= runs; n++)); do
  # A new caption each time, typed into the prompt (Alt+P, its label's shortcut), so that
  # caches keyed by prompt text see a day's worth of different prompts.
  caption=$(caption "$n")
  xdotool key --clearmodifiers alt+p ctrl+a
  xdotool type --delay 2 "$caption"
  xdotool key --clearmodifiers ctrl+Return
  # The first run loads the model; later ones take a fraction of a second.
  limit=$((n == 1 ? 600 : 120))
  deadline=$(($(date +%s) + limit))
  while [ "$(pictures)" -lt "$n" ]; do
    kill -0 "$gui_pid" 2>/dev/null || { echo "soak.sh: the program ended during generation $n:" >&2; tail -n 20 "$work/gui.log" >&2; exit 1; }
    [ "$(date +%s)" -lt "$deadline" ] || { echo "soak.sh: generation $n gave no picture in ${limit} s:" >&2; tail -n 20 "$work/gui.log" >&2; exit 1; }
    sleep 0.05
  done
  saved=("$out"/*.png)  # numbered names: the glob's order is the order they were made in
  newest=$(basename "${saved[${#saved[@]} - 1]}")
  grep -aqF "$caption" "$out/$newest" || { echo "soak.sh: picture $n ($newest) does not carry the typed caption '$caption'" >&2; exit 1; }
  if [ "$n" -eq 10 ] || [ $((n % 25)) -eq 0 ] || [ "$n" -eq "$runs" ]; then
    sleep 1  # let the gallery take the new picture in, as a person would between runs
    row="$(sample "$n") $(($(date +%s) - start))"
    rows+=("$row")
    # shellcheck disable=SC2086  # the row's five fields, one per column
    printf '%10s %10s %8s %8s %10s\n' $row
    [ -n "$csv" ] && echo "${row// /,}" >>"$csv"
  fi
done

# Quit as a person does (Ctrl+Q) and expect a clean exit.
xdotool windowfocus --sync "$window" key --clearmodifiers ctrl+q
for _ in $(seq 300); do kill -0 "$gui_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$gui_pid" 2>/dev/null; then quit="did not quit within 30 s"; else
  status=0; wait "$gui_pid" || status=$?; quit="exit status $status"; fi
gui_pid=

read -r _ rss0 threads0 files0 _ <<<"${rows[0]}"
read -r _ rss1 threads1 files1 _ <<<"${rows[${#rows[@]} - 1]}"
peak=$(printf '%s\n' "${rows[@]}" | awk '$2 > m { m = $2 } END { print m }')
verdict=pass
check() {  # what, ok (0/1)
  if [ "$2" -eq 1 ]; then echo "  ok    $1"; else echo "  FAIL  $1"; verdict=fail; fi
}
echo "after generation 10 -> $runs (peak resident ${peak} MB; program: $quit):"
d=$((rss1 - rss0))
check "resident memory ${rss0} -> ${rss1} MB (${d#-} MB $([ $d -ge 0 ] && echo more || echo less), limit 100)" $((d <= 100 && d >= -100))
check "threads ${threads0} -> ${threads1}" $((threads1 <= threads0))
check "open files ${files0} -> ${files1}" $((files1 <= files0))
[ "$quit" = "exit status 0" ] || { echo "  FAIL  the program did not quit cleanly ($quit)"; verdict=fail; }
echo "soak: $verdict"
[ "$verdict" = pass ]
