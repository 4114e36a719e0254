// Keeps the testing library non-empty while it grows.
namespace vigil::testing { void LibraryAnchor() {} }
