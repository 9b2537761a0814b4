import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipInputStream;

/**
 * Maven cannot put an Android library (AAR) on a classpath: its classes are in a classes.jar inside it. This takes
 * the classes out of every *.aar under a directory (as maven-dependency-plugin's copy-dependencies left them) into
 * one class directory that is on the compile and test classpath. Resources and manifests are left out.
 *
 * Run by pom.xml (maven-antrun-plugin, as a single-file Java program): UnpackAars AAR_DIR CLASSES_DIR
 */
public final class UnpackAars {
    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            throw new IllegalArgumentException("usage: UnpackAars AAR_DIR CLASSES_DIR");
        }
        Path aars = Paths.get(args[0]);
        Path out = Paths.get(args[1]).toAbsolutePath().normalize();
        Files.createDirectories(out);
        if (!Files.isDirectory(aars)) {
            return; // no AAR in this scope
        }
        List<Path> found;
        try (Stream<Path> walk = Files.walk(aars)) {
            found = walk.filter(p -> p.toString().endsWith(".aar")).sorted().collect(Collectors.toList());
        }
        for (Path aar : found) {
            try (ZipFile zip = new ZipFile(aar.toFile())) {
                ZipEntry classes = zip.getEntry("classes.jar");
                if (classes == null) {
                    continue; // e.g. a Kotlin Multiplatform root AAR: no classes of its own
                }
                try (ZipInputStream jar = new ZipInputStream(zip.getInputStream(classes))) {
                    extract(jar, out);
                }
            }
        }
        System.out.println("UnpackAars: classes of " + found.size() + " AARs in " + out);
    }

    private static void extract(ZipInputStream jar, Path out) throws IOException {
        for (ZipEntry entry; (entry = jar.getNextEntry()) != null; ) {
            String name = entry.getName();
            if (name.equals("META-INF/MANIFEST.MF")) {
                continue;
            }
            Path target = out.resolve(name).normalize();
            if (!target.startsWith(out)) {
                throw new IOException("entry outside the output directory: " + name);
            }
            if (entry.isDirectory()) {
                Files.createDirectories(target);
            } else {
                Files.createDirectories(target.getParent());
                Files.copy((InputStream) jar, target, StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }
}
