// Keeps the library non-empty while it grows.
namespace vigil::client { void LibraryAnchor() {} }
