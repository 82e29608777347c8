// jest runs the package's CommonJS entry, with no flags (no --experimental-vm-modules).
module.exports = { rootDir: __dirname, testMatch: ["<rootDir>/jest.spec.cjs"], testEnvironment: "node" };
