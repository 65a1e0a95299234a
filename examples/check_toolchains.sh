#!/usr/bin/env bash
# Checks the toolchains the examples build with, and names every one that is missing or too old.
# Used by `make examples-build` (and so by `make test`) before anything is downloaded or built.
set -uo pipefail

problems=()

# $1 tool name, $2 found major(.minor), $3 needed, $4 how to get it
need_version() {
  if ! printf '%s\n%s\n' "$3" "$2" | sort -V -C; then
    problems+=("$1 $3 or newer is needed, found $2: $4")
  fi
}

if command -v node >/dev/null && command -v npm >/dev/null; then
  need_version "Node.js" "$(node -p 'process.versions.node')" 18 "install Node.js 18+ with npm (e.g. apt-get install nodejs npm)"
else
  problems+=("Node.js with npm is missing (the JavaScript example): install Node.js 18+ and npm, e.g. apt-get install nodejs npm")
fi

if command -v javac >/dev/null && command -v java >/dev/null; then
  need_version "Java (JDK)" "$(javac -version 2>&1 | awk '{print $2}')" 17 "install a JDK 17+, e.g. apt-get install openjdk-17-jdk-headless"
else
  problems+=("a Java JDK (java and javac) is missing (the Java example): install JDK 17+, e.g. apt-get install openjdk-17-jdk-headless")
fi

if command -v mvn >/dev/null; then
  need_version "Maven" "$(mvn -v 2>/dev/null | sed -n 's/.*Apache Maven \([0-9.]*\).*/\1/p' | head -1)" 3.6.3 "install Maven 3.6.3+, e.g. apt-get install maven"
else
  problems+=("Maven (mvn) is missing (the Java example): install Maven 3.6.3+, e.g. apt-get install maven")
fi

if command -v go >/dev/null; then
  # The go line of examples/go/go.mod is the oldest Go that builds the example.
  wanted=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$(dirname "$0")/go/go.mod")
  need_version "Go" "$(GOTOOLCHAIN=local go env GOVERSION | sed 's/^go//')" "$wanted" "install Go $wanted+ from the Go project's downloads"
else
  problems+=("Go is missing (the Go example): install Go 1.24+ from the Go project's downloads and put it on PATH")
fi

if ((${#problems[@]})); then
  echo "examples: cannot build the JavaScript, Java and Go examples:" >&2
  printf '  - %s\n' "${problems[@]}" >&2
  exit 1
fi
