# bundle.cmake -- the console's build step, run by the `baton_console`
# target (api/console/CMakeLists.txt) in CMake script mode:
#   cmake -DSRC=<api/console> -DOUT=<build>/console -P bundle.cmake
# It copies the assets (index.html, *.css, *.js, pages/*.js) into OUT, the
# folder baton-api serves (api.console.dir), and refuses any asset that
# names a URL outside the page's own origin (an http:// or https:// address
# other than the SVG namespace), so the console never reaches the internet
# at run time.  The console uses no npm package; one added later is
# installed with `npm install --prefix` into the build folder and copied
# into OUT by this step, never loaded from a CDN.
cmake_minimum_required(VERSION 3.18)
if(NOT SRC OR NOT OUT)
  message(FATAL_ERROR "bundle.cmake: SRC and OUT must be set")
endif()
get_filename_component(SRC ${SRC} ABSOLUTE)
get_filename_component(OUT ${OUT} ABSOLUTE)
file(GLOB_RECURSE assets RELATIVE ${SRC} ${SRC}/*.html ${SRC}/*.css ${SRC}/*.js)
if(NOT "index.html" IN_LIST assets)
  message(FATAL_ERROR "bundle.cmake: no index.html in ${SRC}")
endif()
file(REMOVE_RECURSE ${OUT})
foreach(rel ${assets})
  file(READ ${SRC}/${rel} text)
  string(REPLACE "http://www.w3.org/2000/svg" "" stripped "${text}")
  string(REGEX MATCH "https?://[^ \"'`)<>]*" url "${stripped}")
  if(url)
    message(FATAL_ERROR "console asset ${rel} names ${url}: the console must load nothing from outside its origin")
  endif()
  get_filename_component(dir ${rel} DIRECTORY)
  file(COPY ${SRC}/${rel} DESTINATION ${OUT}/${dir})
endforeach()
list(LENGTH assets n)
message(STATUS "console: ${n} assets bundled into ${OUT}")
