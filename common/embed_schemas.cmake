# Writes OUT, a C file defining `const char *baton_schema_<name>` for each
# schemas/<name>.avsc, so the binaries carry the exact schema text.
file(WRITE ${OUT} "/* generated from the .avsc files of schemas/ by embed_schemas.cmake */\n")
string(REPLACE " " ";" NAMES "${NAMES}")
foreach(n ${NAMES})
  file(READ ${DIR}/${n}.avsc text)
  string(REPLACE "\\" "\\\\" text "${text}")
  string(REPLACE "\"" "\\\"" text "${text}")
  string(REPLACE "\n" "\\n\"\n\"" text "${text}")
  file(APPEND ${OUT} "const char *baton_schema_${n} =\n\"${text}\";\n")
endforeach()
