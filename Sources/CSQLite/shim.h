/* The SQLite 3 API (libsqlite3-dev) for the Swift index. */
#include <sqlite3.h>
