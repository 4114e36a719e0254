// Structured one-line logs on stderr:
//   2026-11-22T16:40:00.123Z level=info event=listening endpoint=tcp://...
// Values are identifiers and counts only: never secrets, content, invite
// codes or passphrases. Callers pass device fingerprints as short prefixes.
//
// Thread safety: Log() may be called from any thread; lines never interleave.
#ifndef VIGIL_LOG_H_
#define VIGIL_LOG_H_

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace vigil::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLevel(Level level);
// "debug" | "info" | "warn" | "error"; false if unknown.
bool ParseLevel(std::string_view text, Level* out);

using Field = std::pair<std::string_view, std::string>;
void Log(Level level, std::string_view event, std::initializer_list<Field> fields = {});

inline void Debug(std::string_view e, std::initializer_list<Field> f = {}) { Log(Level::kDebug, e, f); }
inline void Info(std::string_view e, std::initializer_list<Field> f = {}) { Log(Level::kInfo, e, f); }
inline void Warn(std::string_view e, std::initializer_list<Field> f = {}) { Log(Level::kWarn, e, f); }
inline void Error(std::string_view e, std::initializer_list<Field> f = {}) { Log(Level::kError, e, f); }

}  // namespace vigil::log

#endif  // VIGIL_LOG_H_
