exports = ({ token, tokenId, username, password, currentPasswordValid }, mode) => {
  if (mode === "ok") return { status: "success" };
  if (mode === "later") return { status: "pending" };
  return { status: "fail" };
};
