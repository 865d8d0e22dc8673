// The outputs of one command (see output_plan.hpp).
#include "host/cli/output_plan.hpp"

#include <iostream>

#include "host/cli/flags.hpp"

namespace linreg::cli {

void OutputPlan::add(const std::string& path, const std::string& flag) {
  if (path.empty()) throw UsageError(flag + ": empty path");
  targets_.push_back(check_output(path, flag));
  contents_.emplace_back();
  has_content_.push_back(false);
}

void OutputPlan::add_input(const std::string& flag, const std::string& path) { inputs_.push_back({flag, path}); }

void OutputPlan::check(const std::string& stdout_owner) {
  std::vector<const OutputTarget*> outs;
  for (const OutputTarget& t : targets_) outs.push_back(&t);
  check_distinct(outs, inputs_);
  if (!stdout_owner.empty())
    for (const OutputTarget& t : targets_)
      if (t.on_stdout())
        throw UsageError(t.flag + " " + (t.path == "-" ? std::string("-") : "'" + terminal_text(t.path) + "'") +
                         ": stdout already carries the " + stdout_owner + " output; write this one to a file");
}

bool OutputPlan::any_on_stdout() const {
  for (const OutputTarget& t : targets_)
    if (t.on_stdout()) return true;
  return false;
}

std::ostream& OutputPlan::report_stream() const { return any_on_stdout() ? std::cerr : std::cout; }

const OutputTarget* OutputPlan::target(const std::string& flag) const {
  for (const OutputTarget& t : targets_)
    if (t.flag == flag) return &t;
  return nullptr;
}

void OutputPlan::set(const std::string& flag, std::string content) {
  for (size_t i = 0; i < targets_.size(); ++i) {
    if (targets_[i].flag != flag) continue;
    contents_[i] = std::move(content);
    has_content_[i] = true;
    return;
  }
  throw InputError("internal error: no output " + flag);
}

void OutputPlan::commit() {
  OutputBatch batch;
  for (size_t i = 0; i < targets_.size(); ++i)
    if (has_content_[i]) batch.add_view(targets_[i], contents_[i]);
  batch.commit();
}

std::string terminal_text(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (ok && len == 2 && c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0) ok = false;  // C1 controls
    if (!ok || (len == 1 && (c < 0x20 || c == 0x7f))) {
      out += '?';
      i += ok ? len : 1;
    } else {
      out.append(s, i, len);
      i += len;
    }
  }
  return out;
}

}  // namespace linreg::cli
