// Incremental framer over peek_frame(): any chunking, oversize packets rejected from the
// fixed header (before their body is buffered), sticky errors with stream offsets.
#include "internal.hpp"

namespace mqtt {

void Framer::feed(Bytes chunk) {
  if (sticky_) return;  // the stream is dead: do not buffer more of it
  if (start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  } else if (start_ >= 4096 && start_ * 2 >= buffer_.size()) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
    start_ = 0;
  }
  // Look at the fixed header of the packet being assembled before buffering its body.
  const std::size_t have = buffer_.size() - start_;
  if (have < 5) {
    std::uint8_t head[5];
    std::size_t n = 0;
    for (; n < have; ++n) head[n] = buffer_[start_ + n];
    for (std::size_t i = 0; n < 5 && i < chunk.size(); ++i) head[n++] = chunk[i];
    const FrameInfo f = peek_frame(Bytes(head, n), max_);
    if (f.status == FrameInfo::Status::error) {
      sticky_ = f.error;
      sticky_.offset = static_cast<std::uint32_t>(consumed_ + f.error.offset);
      buffer_.clear();
      start_ = 0;
      return;
    }
  }
  buffer_.insert(buffer_.end(), chunk.begin(), chunk.end());
}

Framer::Frame Framer::next() {
  Frame out;
  if (sticky_) {
    out.status = FrameInfo::Status::error;
    out.error = sticky_;
    return out;
  }
  const Bytes rest(buffer_.data() + start_, buffer_.size() - start_);
  const FrameInfo f = peek_frame(rest, max_);
  switch (f.status) {
    case FrameInfo::Status::need_more:
      return out;
    case FrameInfo::Status::error:
      sticky_ = f.error;
      sticky_.offset = static_cast<std::uint32_t>(consumed_ + f.error.offset);
      out.status = FrameInfo::Status::error;
      out.error = sticky_;
      return out;
    case FrameInfo::Status::complete:
      out.status = FrameInfo::Status::complete;
      out.packet = rest.first(f.size);
      start_ += f.size;
      consumed_ += f.size;
      return out;
  }
  return out;
}

}  // namespace mqtt
