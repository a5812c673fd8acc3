exports = function (sentence, languages) {
  if (sentence === "hello" && languages === "en_fr") {
    return "bonjour";
  } else if (sentence === "bonjour" && languages === "fr_en") {
    return "hello";
  }
  throw new Error("Watch your language!");
};
