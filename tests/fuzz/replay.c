/*
 * main() for the fuzz targets without libFuzzer (make check, gcc): runs
 * every file of the given directories, or of FUZZ_CORPUS when none is
 * given, through LLVMFuzzerTestOneInput once, in name order.  A crash or
 * sanitizer report fails the test; so does an empty corpus.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REPLAY_MAX_INPUT	(1024 * 1024)	/* corpus files are small */

/* Reads path whole into a buffer of exactly its size (ASan sees overreads). */
static int
replay_file(const char *path, size_t *count)
{
	FILE		*f;
	struct stat	 st;
	uint8_t		*buf = NULL;
	size_t		 len;
	int		 rc = -1;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > REPLAY_MAX_INPUT) {
		fprintf(stderr, "replay: %s: not a regular file of at most "
		    "%d bytes\n", path, REPLAY_MAX_INPUT);
		goto fail;
	}
	len = (size_t)st.st_size;
	/* malloc(0) may give NULL: keep one byte, pass len 0 */
	if ((buf = malloc(len > 0 ? len : 1)) == NULL ||
	    fread(buf, 1, len, f) != len) {
		fprintf(stderr, "replay: %s: read failed\n", path);
		goto fail;
	}
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(buf, len);
	(*count)++;
	rc = 0;
fail:
	free(buf);
	fclose(f);
	return rc;
}

static int
replay_skip(const struct dirent *d)
{
	return d->d_name[0] != '.';	/* ., .., editor droppings */
}

static int
replay_path(const char *path, size_t *count)
{
	struct dirent	**names = NULL;
	struct stat	  st;
	char		  file[PATH_MAX];
	int		  i, n, rc = 0;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path, count);
	if ((n = scandir(path, &names, replay_skip, alphasort)) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (snprintf(file, sizeof(file), "%s/%s", path,
		    names[i]->d_name) >= (int)sizeof(file)) {
			fprintf(stderr, "replay: %s: name too long\n", path);
			rc = -1;
		} else if (replay_file(file, count) == -1)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

/*
 * replay [path ...]: the files of each directory, or each file; with no
 * path, the corpus named at build time (FUZZ_CORPUS), as make check runs.
 */
int
main(int argc, char **argv)
{
#ifdef FUZZ_CORPUS
	char	*dflt[] = { argv[0], (char *)FUZZ_CORPUS, NULL };
#endif
	size_t	 count = 0;
	int	 i, rc = 0;

#ifdef FUZZ_CORPUS
	if (argc < 2) {
		argc = 2;
		argv = dflt;
	}
#endif
	if (argc < 2) {
		fprintf(stderr, "usage: %s corpus-dir-or-file ...\n", argv[0]);
		return 2;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++)
		if (replay_path(argv[i], &count) == -1)
			rc = 1;
	if (count == 0) {
		fprintf(stderr, "replay: no input found\n");
		rc = 1;
	}
	fprintf(stderr, "replay: %zu inputs, %s\n", count,
	    rc == 0 ? "all passed" : "FAILED");
	return rc;
}
