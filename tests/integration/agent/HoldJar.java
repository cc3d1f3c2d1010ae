// SPDX-License-Identifier: Apache-2.0
// A JVM that loads one class from the jar on its classpath (without
// initialising it) and then stays up, holding the jar open as a real
// application would.  Run with the source launcher: java -cp JAR HoldJar.java
public class HoldJar {
	public static void main(String[] args) throws Exception {
		Class.forName(args[0], false, HoldJar.class.getClassLoader());
		System.out.println("loaded " + args[0]);
		System.out.flush();
		Thread.sleep(60000);
	}
}
