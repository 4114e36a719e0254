// Keeps the library non-empty while it grows.
namespace vigil::relay { void LibraryAnchor() {} }
