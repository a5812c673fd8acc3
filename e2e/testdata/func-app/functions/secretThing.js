exports = () => "only the server may see this";
