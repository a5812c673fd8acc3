exports = () => ({ id: context.user.id, system: context.runningAsSystem() });
