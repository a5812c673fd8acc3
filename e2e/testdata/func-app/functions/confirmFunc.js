exports = ({ token, tokenId, username }) => {
  if (username.startsWith("confirm-")) return { status: "success" };
  if (username.startsWith("pending-")) return { status: "pending" };
  if (username.startsWith("throw-")) throw new Error("nope");
  return { status: "fail" };
};
