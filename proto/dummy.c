/* keeps a module library non-empty before its first source lands */
typedef int sy_dummy_t;
